import { randomUUID } from 'node:crypto';
import { lambdaContext } from '../gateway.js';

/** The user pool's Lambda triggers a federated sign-in runs (Cognito's LambdaConfig names). */
export type TriggerName = 'InboundFederation' | 'PreSignUp' | 'PostConfirmation' | 'PreAuthentication' | 'PostAuthentication' | 'PreTokenGeneration';
export type TriggerHandler = (event: any, context: ReturnType<typeof lambdaContext>) => Promise<any>;
/** Trigger → its handler, and for PreTokenGeneration the event version (V1_0 unless the pool says V2_0). */
export interface TriggerConfig {
  handlers: Partial<Record<TriggerName, TriggerHandler>>;
  preTokenVersion?: 'V1_0' | 'V2_0';
}

/** Thrown when a trigger refuses: Cognito fails the sign-in with "<Trigger> failed with error <message>." */
export class TriggerError extends Error {}

export interface Caller {
  region: string;
  userPoolId: string;
  clientId: string;
  userName: string;
}

/** Invoke a trigger as Cognito does: the event's common fields, a Lambda context, its answer back. */
export async function invoke<E extends { request: object; response: object }>(cfg: TriggerConfig, name: TriggerName, triggerSource: string, caller: Caller, body: Pick<E, 'request' | 'response'>, version = '1'): Promise<E | undefined> {
  const handler = cfg.handlers[name];
  if (!handler) return undefined;
  const event = {
    version,
    region: caller.region,
    userPoolId: caller.userPoolId,
    triggerSource,
    userName: caller.userName,
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: caller.clientId },
    request: body.request,
    response: body.response,
  };
  try {
    return ((await handler(event, lambdaContext(`${name}Trigger`, randomUUID()))) ?? event) as E;
  } catch (err) {
    throw new TriggerError(`${name} failed with error ${(err as Error).message}.`);
  }
}
