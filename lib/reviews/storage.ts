/**
 * Where review reports are kept: an S3 bucket in AWS (REVIEWS_BUCKET), a folder on one machine
 * (ROSTER_REVIEWS_DIR, which the local runtime sets to ROSTER_DATA_DIR/reviews). Large files are
 * written part by part (an S3 multipart upload; part files in the folder), small ones whole; every
 * file can be read back as a stream, to hash it and to serve it.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.js';

export interface ReportStore {
  location(key: string): string;
  begin(key: string, contentType: string): Promise<string>;
  part(key: string, uploadId: string, n: number, body: Buffer): Promise<string>;
  complete(key: string, uploadId: string, etags: string[]): Promise<void>;
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The file as a stream (404 when it is not there). */
  read(key: string): Promise<Readable>;
  /** The most a download through the API may carry (a Lambda response is at most 6 MB, base64 included). */
  readonly servedLimit: number;
  size(key: string): Promise<number>;
}

export class S3ReportStore implements ReportStore {
  constructor(
    private readonly bucket: string,
    private readonly s3 = new S3Client({}),
  ) {}
  location = (key: string) => `s3://${this.bucket}/${key}`;
  readonly servedLimit = 4 * 1024 * 1024;
  async size(key: string) {
    try {
      return (await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if ((err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchKey') throw new NotFoundError('No such report file.');
      throw err;
    }
  }
  async begin(key: string, contentType: string) {
    const r = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ServerSideEncryption: 'AES256' }));
    return r.UploadId!;
  }
  async part(key: string, uploadId: string, n: number, body: Buffer) {
    const r = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }));
    return r.ETag!;
  }
  async complete(key: string, uploadId: string, etags: string[]) {
    await this.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
  }
  async put(key: string, body: Buffer, contentType: string) {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ServerSideEncryption: 'AES256' }));
  }
  async read(key: string) {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return r.Body as Readable;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') throw new NotFoundError('No such report file.');
      throw err;
    }
  }
}

export class FolderReportStore implements ReportStore {
  constructor(private readonly dir: string) {}
  location = (key: string) => join(this.dir, key);
  readonly servedLimit = Number.MAX_SAFE_INTEGER;
  async size(key: string) {
    const file = this.location(key);
    if (!existsSync(file)) throw new NotFoundError('No such report file.');
    return statSync(file).size;
  }
  private parts = (key: string) => `${this.location(key)}.parts`;
  async begin(key: string) {
    rmSync(this.parts(key), { recursive: true, force: true });
    mkdirSync(this.parts(key), { recursive: true });
    return 'local';
  }
  async part(key: string, _uploadId: string, n: number, body: Buffer) {
    writeFileSync(join(this.parts(key), String(n).padStart(5, '0')), body);
    return String(n);
  }
  async complete(key: string, _uploadId: string, etags: string[]) {
    const dir = this.parts(key);
    const tmp = `${this.location(key)}.tmp`;
    writeFileSync(tmp, '');
    // Part by part, streamed, and only the parts the upload names (as S3 completes a multipart upload).
    const names = new Set(etags.map((e) => e.padStart(5, '0')));
    for (const f of readdirSync(dir).filter((f) => names.has(f)).sort()) await pipeline(createReadStream(join(dir, f)), createWriteStream(tmp, { flags: 'a' }));
    renameSync(tmp, this.location(key));
    rmSync(dir, { recursive: true, force: true });
  }
  async put(key: string, body: Buffer) {
    mkdirSync(dirname(this.location(key)), { recursive: true });
    writeFileSync(this.location(key), body);
  }
  async read(key: string) {
    const file = this.location(key);
    if (!existsSync(file) || !statSync(file).isFile()) throw new NotFoundError('No such report file.');
    return createReadStream(file);
  }
}

/** The store from the environment. */
export function reportStore(): ReportStore {
  if (process.env.REVIEWS_BUCKET) return new S3ReportStore(process.env.REVIEWS_BUCKET);
  if (process.env.ROSTER_REVIEWS_DIR) return new FolderReportStore(process.env.ROSTER_REVIEWS_DIR);
  if (process.env.ROSTER_DATA_DIR) return new FolderReportStore(join(process.env.ROSTER_DATA_DIR, 'reviews'));
  throw new ServiceUnavailableError('Review reports are not configured (REVIEWS_BUCKET or ROSTER_DATA_DIR).');
}

/** A stream's bytes, collected (for files served whole). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of Readable.from(stream)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
