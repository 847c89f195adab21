import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** s3rver's fixed credentials: it checks request signatures against them. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** s3rver's folder: objects and the parts of unfinished multipart uploads live under it. */
  directory: string;
  /** Environment that points the service at this server (STORAGE_URL, S3_ENDPOINT, S3_FORCE_PATH_STYLE, AWS_*). */
  env(prefix: string): Record<string, string>;
  /** A client of the test's own, to look at the bucket directly. */
  client: S3Client;
  /** Every key in the bucket under a prefix. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** A real S3 API (npm s3rver) on 127.0.0.1, a random port and a temp folder, with one bucket. */
export async function startLocalS3(bucket = 'crm-archives'): Promise<LocalS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const keys = async (prefix?: string) => {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!).sort();
  };
  return {
    endpoint,
    bucket,
    directory,
    client,
    keys,
    env: (prefix) => ({
      STORAGE_URL: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }),
    close: async () => {
      for (const key of await keys()) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      client.destroy();
      await server.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

/** Parts s3rver holds for multipart uploads that were started and never completed (its own layout). */
export async function unfinishedUploadParts(s3: LocalS3): Promise<string[]> {
  const files = await fs.readdir(s3.directory, { recursive: true });
  return files.filter((f) => /_S3rver_uploads[/\\][^/\\]+[/\\]\d+$/.test(f));
}
