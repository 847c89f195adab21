const DEFAULT_QUERY = `# Paste your token in the Headers tab below:  { "Authorization": "Bearer cda_..." }
query Contacts {
  viewer { email role }
  contacts(first: 10) { totalCount nodes { id firstName lastName email } }
}
`;

/**
 * GraphiQL's WebSocket client sends only static connection params, not the Headers tab. This shim, run before
 * GraphiQL, copies the Authorization header of the active tab (GraphiQL keeps tabs in localStorage) into the
 * graphql-ws `connection_init` payload, so subscriptions authenticate exactly like queries.
 */
const WS_AUTH_SHIM = `<script>
(function () {
  function currentAuthorization() {
    try {
      var state = JSON.parse(localStorage.getItem('graphiql:tabState') || '{}');
      var tab = (state.tabs || [])[state.activeTabIndex || 0] || {};
      var headers = JSON.parse(tab.headers || localStorage.getItem('graphiql:headers') || '{}');
      for (var k in headers) if (k.toLowerCase() === 'authorization') return headers[k];
    } catch (e) {}
    return undefined;
  }
  var NativeWebSocket = window.WebSocket;
  function AuthWebSocket(url, protocols) {
    var socket = new NativeWebSocket(url, protocols);
    var send = socket.send.bind(socket);
    socket.send = function (data) {
      try {
        var msg = JSON.parse(data);
        if (msg && msg.type === 'connection_init') {
          var auth = currentAuthorization();
          if (auth) { msg.payload = Object.assign({}, msg.payload, { authorization: auth }); data = JSON.stringify(msg); }
        }
      } catch (e) {}
      return send(data);
    };
    return socket;
  }
  AuthWebSocket.prototype = NativeWebSocket.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { AuthWebSocket[k] = NativeWebSocket[k]; });
  window.WebSocket = AuthWebSocket;
})();
</script>`;

let page: Promise<string> | undefined;

/**
 * The whole page (~9 MB, every script inline): works with no internet. Loaded and rendered on the first
 * request only — the module alone costs ~70 MB of memory, which workers and API processes that never serve
 * GraphiQL should not pay.
 */
export function graphiqlPage(): Promise<string> {
  page ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL({
    title: 'crm-data-admin GraphiQL',
    subscriptionsProtocol: 'WS',
    defaultQuery: DEFAULT_QUERY,
    shouldPersistHeaders: true,
    headers: JSON.stringify({ Authorization: 'Bearer <paste a token here>' }, null, 2),
  }).replace('<head>', `<head>${WS_AUTH_SHIM}`));
  return page;
}
