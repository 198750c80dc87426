import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../infra/local/dynamodb.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoints: string[];
  }
}

/** Test workers; each gets a DynamoDB Local of its own (one JVM keeps about one core busy). */
export const WORKERS = 2;

/** DynamoDB Local (in memory) per worker for the whole run; each test file makes its own tables in it. */
export default async function setup(project: TestProject) {
  // Node 20 is this project's development runtime by choice; Lambda runs 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const locals = await Promise.all(Array.from({ length: WORKERS }, () => startDynamoDbLocal()));
  project.provide('dynamodbEndpoints', locals.map((l) => l.endpoint));
  return () => Promise.all(locals.map((l) => l.stop()));
}
