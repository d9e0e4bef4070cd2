// The sender of `--dry-run`: the same interface as DashlySender, and no request, no journal write, no wait. It
// counts what would be sent, prints the first requests in full with the token masked (bodies cut at 120
// characters), and a plan line per conversation. A part left in flight by an earlier run counts as not delivered
// (the plan shows the resend a real run would make if the check found nothing).

import type { DashlyApi, UploadFile } from './dashly-api.js';
import { type MigrationReport } from './migrate-report.js';
import type { ActionResult, ConversationSummary, InFlightCheck, PartPlan, PartResult, PartSender, PlannedAction, StartResult } from './part-sender.js';

export class DryRunSender implements PartSender {
  /** Sequential: nothing to overlap, and the plan prints in a stable order. */
  readonly concurrency = 1;
  private previewsLeft: number;

  constructor(
    private readonly api: DashlyApi,
    private readonly report: MigrationReport,
    previewRequests: number,
    private readonly log: ((line: string) => void) | undefined,
  ) {
    this.previewsLeft = previewRequests;
  }

  async start(_conv: { src: string; conv: string }, user: string, body: string): Promise<StartResult> {
    this.report.requests.starts++;
    this.report.conversations.started++;
    this.preview('POST', this.api.startUrl(user), { body });
    return { kind: 'ok', target: `(new conversation of user ${user})` };
  }

  async settleInFlight(): Promise<InFlightCheck> {
    return { kind: 'absent' };
  }

  async send(_key: unknown, target: string, plan: PartPlan, form: Record<string, string>, _file: UploadFile | null): Promise<PartResult> {
    this.report.requests.replies++;
    // a dry run fetches no file: the preview says which one a run would upload
    this.preview('POST', this.api.replyUrl(target), plan.att === 'file' ? { ...form, attachment: '(the file, fetched from its link)' } : form);
    return { kind: 'sent' };
  }

  async act(_conv: unknown, target: string, planned: PlannedAction): Promise<ActionResult> {
    this.report.requests.actions++;
    const a = planned.action;
    this.preview('POST', this.api.actionUrl(target, a), a.kind === 'tag' ? { tag: a.tag } : a.kind === 'assign' ? { admin: a.admin } : {});
    return { kind: 'done' };
  }

  conversationDone(c: ConversationSummary): void {
    const where = c.target ?? `skipped (${c.skipped ?? 'no target'})`;
    this.log?.(
      `plan: conversation ${c.id} -> ${where}: ${c.requests} request${c.requests === 1 ? '' : 's'} for ${c.messages} message${c.messages === 1 ? '' : 's'}`,
    );
  }

  private preview(method: string, url: string, form: Record<string, string>): void {
    if (this.previewsLeft <= 0) return;
    this.previewsLeft--;
    const shown = Object.entries(form)
      .map(([k, v]) => `${k}=${JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v)}`)
      .join(' ');
    this.log?.(`request: ${method} ${url}  Authorization: Token ****  ${shown}`);
  }
}
