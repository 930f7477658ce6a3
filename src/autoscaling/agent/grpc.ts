/**
 * A unary gRPC server on Node's own HTTP/2 (plaintext, prior knowledge: what grpc-go's insecure client speaks): each
 * request is one length-prefixed, uncompressed message; the answer is one message and the `grpc-status` trailer, or a
 * trailers-only error. That is all the externalgrpc protocol uses.
 */
import { createServer, type Http2Server } from 'node:http2';
import { decode, type Fields } from './proto.js';

/** A failure with its gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, 9 FAILED_PRECONDITION, 12 UNIMPLEMENTED, 14 UNAVAILABLE). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export type Handler = (request: Fields) => Promise<Uint8Array> | Uint8Array;

/** grpc-message: UTF-8, with bytes outside printable ASCII and '%' percent-encoded (the gRPC HTTP/2 spec). */
const percentEncoded = (s: string): string =>
  Array.from(Buffer.from(s, 'utf8'), (b) =>
    b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b),
  ).join('');

/** Serves `service`'s methods on `host:port`; resolves once listening. Unknown methods answer UNIMPLEMENTED. */
export function serveGrpc(
  host: string,
  port: number,
  service: string,
  handlers: Readonly<Record<string, Handler>>,
  log: (line: string) => void,
): Promise<Http2Server> {
  const server = createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('end', async () => {
      const path = String(headers[':path']);
      let code = 0;
      let message = '';
      let body: Uint8Array = new Uint8Array(0);
      try {
        const slash = path.lastIndexOf('/');
        const handler = path.slice(1, slash) === service ? handlers[path.slice(slash + 1)] : undefined;
        if (!handler) throw new RpcError(12, `method ${path} is not implemented`);
        const req = Buffer.concat(chunks);
        if (req.length < 5 || req.readUInt32BE(1) !== req.length - 5) throw new RpcError(13, 'one length-prefixed message expected');
        if (req[0] !== 0) throw new RpcError(12, 'compressed messages are not supported');
        body = await handler(decode(req.subarray(5)));
      } catch (e) {
        code = e instanceof RpcError ? e.code : 13;
        message = (e as Error).message;
        log(`grpc ${path}: ${code} ${message}`);
      }
      if (stream.destroyed) return;
      if (code) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': percentEncoded(message) },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      stream.end(Buffer.concat([prefix, body]));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
