// A test double of an Expertflow Hybrid Chat installation's read side, written from shared/vendor-docs (NOTES.md):
// GET /conversations/getAllConversations?start_time=YYYY-MM-DD&end_time=YYYY-MM-DD (an array of {id, creationTime,
// endTime, channelSession}; a conversation counts when it began inside the window, end day included) and
// GET /legacy/api/getMessagesByRefId?refId=&page=&pageSize= ({"messages": [...], "metaData": {"totalMessages": N}},
// pages numbered from 1, *(inferred)*); a bearer token.

import type { IncomingMessage } from 'node:http';
import { FaultServer, type Answer } from './fault-server.js';

export class ExpertflowApiServer extends FaultServer {
  /** Conversation id -> its day (YYYY-MM-DD) and how many messages it has. */
  readonly conversations = new Map<string, { day: string; messages: number }>();

  constructor(readonly token: string) {
    super();
  }

  protected route(path: string, query: URLSearchParams, headers: IncomingMessage['headers']): Answer {
    if (headers.authorization !== `Bearer ${this.token}`) return { status: 401, body: '{"error":"unauthorized"}' };
    if (path === '/conversations/getAllConversations') {
      const start = query.get('start_time') ?? '';
      const end = query.get('end_time') ?? '';
      const list = [...this.conversations]
        .filter(([, c]) => c.day >= start && c.day <= end)
        .map(([id, c]) => ({ id, creationTime: `${c.day}T08:00:00.000Z`, endTime: null, channelSession: {} }));
      return { status: 200, body: JSON.stringify(list) };
    }
    if (path === '/legacy/api/getMessagesByRefId') {
      const ref = query.get('refId') ?? '';
      const c = this.conversations.get(ref);
      const page = Number(query.get('page'));
      const size = Number(query.get('pageSize'));
      if (!c || !(page >= 1) || !(size >= 1)) return { status: 400, body: '{"error":"bad request"}' };
      const messages = [];
      for (let i = (page - 1) * size; i < Math.min(c.messages, page * size); i++) {
        messages.push({
          messageId: `${ref}-m${i}`,
          conversationId: ref,
          from: { id: 'cust-1', type: 'Customer', name: 'C' },
          messageType: 'ChatMessage',
          timestamp: `${c.day} 08:00:${String(i % 60).padStart(2, '0')}`,
          text: `message ${i}`,
        });
      }
      return { status: 200, body: JSON.stringify({ messages, metaData: { totalMessages: c.messages } }) };
    }
    return { status: 404, body: '{"error":"not found"}' };
  }
}
