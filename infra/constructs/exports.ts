import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ExportBucketProps {
  /** Days objects are kept (default 30: an export is a copy for an auditor, not a second archive). */
  expirationDays?: number;
  /** Server access logs go to this bucket (default: one of its own). */
  accessLogs?: Bucket;
  /** Prefix of its server access logs (default `exports/`). */
  logPrefix?: string;
}

/**
 * Where activity-log exports (and, a second one, access-review reports) go: a private, encrypted,
 * TLS-only bucket whose objects expire (30 days by default), with server access logs.
 */
export class ExportBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ExportBucketProps = {}) {
    super(scope, id);
    const common = {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.accessLogs =
      props.accessLogs ??
      new Bucket(this, 'AccessLogs', {
        ...common,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycleRules: [{ expiration: Duration.days(365) }],
      });
    this.bucket = new Bucket(this, 'Exports', {
      ...common,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: props.logPrefix ?? 'exports/',
      lifecycleRules: [{ expiration: Duration.days(props.expirationDays ?? 30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
  }
}
