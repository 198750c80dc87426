import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Sink } from '../../lib/audit/exports.js';

/** S3 cannot run here: a client that answers as S3 does and keeps what it was sent. */
function fakeS3() {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'upload-1', Bucket: command.input.Bucket, Key: command.input.Key };
      if (command instanceof UploadPartCommand) return { ETag: `"etag-${command.input.PartNumber}"` };
      if (command instanceof CompleteMultipartUploadCommand) return { Location: `https://${command.input.Bucket}.s3.amazonaws.com/${command.input.Key}` };
      throw new Error('unexpected command');
    },
  };
  return { client: client as unknown as S3Client, sent };
}

describe('S3 export sink', () => {
  it('writes an export as one encrypted multipart upload, its parts numbered from 1 and completed in order', async () => {
    const { client, sent } = fakeS3();
    const sink = new S3Sink('roster-exports', client);
    const key = 'activity-logs/org-1/x.ndjson';
    expect(sink.location(key)).toBe('s3://roster-exports/activity-logs/org-1/x.ndjson');
    const upload = await sink.begin(key);
    const etags = [await sink.part(key, upload, 1, Buffer.from('{"id":1}\n')), await sink.part(key, upload, 2, Buffer.from('{"id":2}\n'))];
    await sink.complete(key, upload, etags);

    const [create, part1, part2, complete] = sent as [CreateMultipartUploadCommand, UploadPartCommand, UploadPartCommand, CompleteMultipartUploadCommand];
    expect(create.input).toEqual({ Bucket: 'roster-exports', Key: key, ServerSideEncryption: 'AES256' });
    expect([part1.input.PartNumber, part2.input.PartNumber]).toEqual([1, 2]);
    expect(part1.input).toMatchObject({ Bucket: 'roster-exports', Key: key, UploadId: 'upload-1' });
    expect(complete.input).toEqual({
      Bucket: 'roster-exports',
      Key: key,
      UploadId: 'upload-1',
      MultipartUpload: { Parts: [{ ETag: '"etag-1"', PartNumber: 1 }, { ETag: '"etag-2"', PartNumber: 2 }] },
    });
  });
});
