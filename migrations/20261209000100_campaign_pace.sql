-- A sender's campaign pace across every node (issue 15): each node's runner paced a sender at
-- the campaign rate on its own, so two nodes sent twice as fast as a long code allows. Now the
-- nodes share one theoretical arrival time per sender (GCRA): a runner takes n sends by moving
-- `tat` n / rate seconds on, under the row's lock, and only as many as fit before now plus a
-- tick's burst. The row is the sender's (`send_guard::sender_key`: a number, or a messaging
-- service), not a campaign's: two campaigns on one number share its pace.
CREATE TABLE campaign_pace (
    sender  text PRIMARY KEY,
    tat     timestamptz NOT NULL DEFAULT now()
);
