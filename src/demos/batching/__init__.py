"""Micro-batching that deadlocks.

A micro-batcher collects requests that arrive close together and runs them through the
model in one call: a batch of 32 sentences costs far less than 32 calls of one. It is a few
dozen lines of asyncio, and almost every first version of it can hang.

The Rust original has a batcher and its client on the same task, each waiting for the
other; the fix is to run the batcher on its own task. Python finds more ways in: a batcher
that waits for a full batch with no deadline, a cancelled request whose future poisons the
batching task, a model exception that kills it, a warm-up request awaited inside the
batcher's own task, a blocking bridge called on the event loop's own thread, a thread pool
whose task waits on a subtask in the same pool, and a model called inline that starves the
event loop. Each one is caught here by a timeout, and the fixed batcher is measured against
unbatched calls and an ideal offline batch on the real encoder.
"""

CHAPTER = 3
