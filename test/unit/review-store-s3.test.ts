import { Readable } from 'node:stream';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ReportStore, readAll } from '../../lib/reviews/storage.js';

/** S3 cannot run here: a client that answers as S3 does (multipart parts assembled on completion, NoSuchKey for what is not there). */
function fakeS3() {
  const sent: unknown[] = [];
  const objects = new Map<string, Buffer>();
  const uploads = new Map<string, Map<number, Buffer>>();
  const client = {
    send: async (c: unknown) => {
      sent.push(c);
      if (c instanceof CreateMultipartUploadCommand) {
        uploads.set('u1', new Map());
        return { UploadId: 'u1' };
      }
      if (c instanceof UploadPartCommand) {
        uploads.get(c.input.UploadId!)!.set(c.input.PartNumber!, Buffer.from(c.input.Body as Buffer));
        return { ETag: `"e${c.input.PartNumber}"` };
      }
      if (c instanceof CompleteMultipartUploadCommand) {
        const parts = uploads.get(c.input.UploadId!)!;
        objects.set(c.input.Key!, Buffer.concat(c.input.MultipartUpload!.Parts!.map((p) => parts.get(p.PartNumber!)!)));
        return {};
      }
      if (c instanceof PutObjectCommand) {
        objects.set(c.input.Key!, Buffer.from(c.input.Body as Buffer));
        return {};
      }
      if (c instanceof HeadObjectCommand) {
        const o = objects.get(c.input.Key!);
        if (!o) throw Object.assign(new Error('Not Found'), { name: 'NotFound' });
        return { ContentLength: o.length };
      }
      if (c instanceof GetObjectCommand) {
        const o = objects.get(c.input.Key!);
        if (!o) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        return { Body: Readable.from([o]) };
      }
      throw new Error('unexpected command');
    },
  };
  return { client: client as unknown as S3Client, sent };
}

describe('S3 review-report store', () => {
  it('writes large files as encrypted multipart uploads, small ones whole, and reads either back byte for byte', async () => {
    const { client, sent } = fakeS3();
    const store = new S3ReportStore('roster-reviews', client);
    const key = 'access-reviews/org-1/review-0000000001/report.csv';
    expect(store.location(key)).toBe(`s3://roster-reviews/${key}`);
    const upload = await store.begin(key, 'text/csv; charset=utf-8');
    const etags = [await store.part(key, upload, 1, Buffer.from('a,b\r\n')), await store.part(key, upload, 2, Buffer.from('1,2\r\n'))];
    await store.complete(key, upload, etags);
    await store.put('access-reviews/org-1/review-0000000001/report.html', Buffer.from('<html>'), 'text/html; charset=utf-8');
    expect((await readAll(await store.read(key))).toString()).toBe('a,b\r\n1,2\r\n');
    const create = sent[0] as CreateMultipartUploadCommand;
    expect(create.input).toEqual({ Bucket: 'roster-reviews', Key: key, ContentType: 'text/csv; charset=utf-8', ServerSideEncryption: 'AES256' });
    const put = sent.find((c) => c instanceof PutObjectCommand) as PutObjectCommand;
    expect(put.input).toMatchObject({ Bucket: 'roster-reviews', ContentType: 'text/html; charset=utf-8', ServerSideEncryption: 'AES256' });
    await expect(store.read('access-reviews/none')).rejects.toMatchObject({ status: 404 });
    expect(await store.size(key)).toBe(10);
    await expect(store.size('access-reviews/none')).rejects.toMatchObject({ status: 404 });
    // What the API serves from S3 stays under a Lambda response's 6 MB (base64 included).
    expect(store.servedLimit * (4 / 3)).toBeLessThan(6 * 1024 * 1024);
  });
});
