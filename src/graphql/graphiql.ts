import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzipAsync = promisify(zlib.gzip);
const brotliAsync = promisify(zlib.brotliCompress);

const DEFAULT_QUERY = `# Paste your token in the Headers tab below:  { "Authorization": "Bearer cda_..." }
query Contacts {
  viewer { email role }
  contacts(first: 10) { totalCount nodes { id firstName lastName email } }
}
`;

/**
 * GraphiQL sends the Headers tab with every operation (in the `subscribe` message's `extensions.headers`), but
 * its WebSocket client sends only static connection params, and graphql-ws authenticates the connection before
 * any operation. This shim, run before GraphiQL, holds the client's `connection_init` (acknowledging it in the
 * page), sends it with the Authorization header of the first operation, and forwards that operation once the
 * server has acknowledged: subscriptions authenticate exactly like queries, from what the user typed.
 */
const WS_AUTH_SHIM = `<script>
(function () {
  var NativeWebSocket = window.WebSocket;
  function parse(data) { try { return JSON.parse(data); } catch (e) { return null; } }
  function authorizationOf(message) {
    var headers = (message.payload && message.payload.extensions && message.payload.extensions.headers) || {};
    for (var k in headers) if (k.toLowerCase() === 'authorization') return headers[k];
    return undefined;
  }
  function AuthWebSocket(url, protocols) {
    var socket = new NativeWebSocket(url, protocols);
    var send = socket.send.bind(socket);
    var heldInit = null;
    var waiting = null;
    var clientOnMessage = null;
    var clientOnClose = null;
    var deliver = function (data) { if (clientOnMessage) clientOnMessage.call(socket, new MessageEvent('message', { data: data })); };
    Object.defineProperty(socket, 'onmessage', { get: function () { return clientOnMessage; }, set: function (fn) { clientOnMessage = fn; } });
    Object.defineProperty(socket, 'onclose', { get: function () { return clientOnClose; }, set: function (fn) { clientOnClose = fn; } });
    // GraphiQL shows a refused subscription's close event as JSON: make its code and reason (4401, "Send an
    // API token…") own properties, so they are what the person sees.
    socket.addEventListener('close', function (event) {
      Object.defineProperty(event, 'code', { value: event.code, enumerable: true });
      Object.defineProperty(event, 'reason', { value: event.reason, enumerable: true });
      if (clientOnClose) clientOnClose.call(socket, event);
    });
    socket.addEventListener('message', function (event) {
      var message = parse(event.data);
      if (waiting && message && message.type === 'connection_ack') {
        var queued = waiting;
        waiting = null;
        queued.forEach(send);
        return;
      }
      deliver(event.data);
    });
    socket.send = function (data) {
      var message = parse(data);
      if (message && message.type === 'connection_init') {
        heldInit = message;
        setTimeout(function () { deliver(JSON.stringify({ type: 'connection_ack' })); }, 0);
        return;
      }
      if (waiting) return void waiting.push(data);
      if (heldInit && message && message.type === 'subscribe') {
        var auth = authorizationOf(message);
        if (auth) heldInit.payload = Object.assign({}, heldInit.payload, { authorization: auth });
        send(JSON.stringify(heldInit));
        heldInit = null;
        waiting = [data];
        return;
      }
      return send(data);
    };
    return socket;
  }
  AuthWebSocket.prototype = NativeWebSocket.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { AuthWebSocket[k] = NativeWebSocket[k]; });
  window.WebSocket = AuthWebSocket;
})();
</script>`;

/** GraphiQL as served: the page, its encodings, its validator and the CSP that admits exactly its scripts. */
export interface GraphiqlPage {
  html: Buffer;
  gzip: Buffer;
  brotli: Buffer;
  etag: string;
  contentSecurityPolicy: string;
}

let page: Promise<GraphiqlPage> | undefined;

/**
 * The whole page (~9 MB, every script inline): works with no internet. Loaded, rendered and compressed on the
 * first request only — the module alone costs ~70 MB of memory, which workers and API processes that never serve
 * GraphiQL should not pay; compressing per request would cost a second of CPU each time.
 */
export function graphiqlPage(): Promise<GraphiqlPage> {
  page ??= import('@graphql-yoga/render-graphiql').then(async ({ renderGraphiQL }) => {
    const text = renderGraphiQL({
      title: 'crm-data-admin GraphiQL',
      subscriptionsProtocol: 'WS',
      defaultQuery: DEFAULT_QUERY,
      // A token typed into the Headers tab lives as long as the tab: localStorage would keep it for any script
      // of this origin to read, long after the person left.
      shouldPersistHeaders: false,
      headers: JSON.stringify({ Authorization: 'Bearer <paste a token here>' }, null, 2),
    }).replace('<head>', `<head>${WS_AUTH_SHIM}`);
    const html = Buffer.from(text);
    const [gzip, brotli] = await Promise.all([
      gzipAsync(html, { level: 9 }),
      brotliAsync(html, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: html.length } }),
    ]);
    const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
    return { html, gzip, brotli, etag, contentSecurityPolicy: contentSecurityPolicy(text) };
  });
  return page;
}

/**
 * Scripts run only if they are this page's own inline blocks (by hash; no 'unsafe-inline'); Monaco's workers
 * are blob: URLs the page creates; styles stay inline-capable (GraphiQL and Monaco set style attributes);
 * nothing may frame the page, and it talks to this origin only (HTTP and WebSocket).
 */
function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, body]) => `'sha256-${createHash('sha256').update(body ?? '').digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
