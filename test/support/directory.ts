import type { Directory } from '../../lib/identity/directory.js';

/** A Directory that records what Roster asked of it (lib tests; the Cognito one is tested on its request shapes). */
export class RecordingDirectory implements Directory {
  readonly calls: [string, string][] = [];
  async createUser(email: string) {
    this.calls.push(['createUser', email]);
  }
  async setPassword(email: string) {
    this.calls.push(['setPassword', email]);
  }
  async disable(email: string) {
    this.calls.push(['disable', email]);
  }
  async enable(email: string) {
    this.calls.push(['enable', email]);
  }
}
