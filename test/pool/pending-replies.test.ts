// Requests to another process are answered by id, in any order, and a stray reply is dropped.
import t from "tap";
import { PendingReplies } from "../../src/pool/pending-replies.ts";

t.test("replies settle the request that carries their id, in whatever order they come", async (t) => {
  const replies = new PendingReplies<string>();
  const sent: number[] = [];
  const first = replies.ask((id) => sent.push(id));
  const second = replies.ask((id) => sent.push(id));
  t.equal(new Set(sent).size, 2, "each request has its own id");
  replies.settle(sent[1], "two");
  replies.settle(sent[0], "one");
  t.same(await Promise.all([first, second]), ["one", "two"]);
});

t.test("a reply to no pending request, or a second reply, changes nothing", async (t) => {
  const replies = new PendingReplies<string>();
  let id = 0;
  const answer = replies.ask((sent) => (id = sent));
  replies.settle(id + 100, "stray");
  replies.settle(id, "right");
  replies.settle(id, "again");
  t.equal(await answer, "right");
});
