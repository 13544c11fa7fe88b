"""One tokenizer, many threads.

A service loads one ``tokenizers.Tokenizer`` and shares it between its request threads.
Each request brings its own options (a maximum length, padding or not), so the handler
calls ``enable_truncation`` / ``enable_padding`` on the shared tokenizer before encoding.

That configuration is state on the one shared object. Between one thread's
``enable_truncation(max_length=8)`` and its ``encode_batch``, another thread's call
replaces it: requests are silently truncated to someone else's length. What else happens
depends on the installed ``tokenizers``: up to 0.23.0 a configuration call made while
another thread is inside ``encode_batch`` raises ``RuntimeError: Already borrowed``
(huggingface/tokenizers#537); from 0.23.1 (a read–write lock) it blocks, holding the GIL,
until the in-flight batch finishes, and with a Python pre-tokenizer the process
deadlocks. Forking a process that has used the tokenizer (or while a thread is inside
it) can hang the child.

The fix: configure once before sharing and apply per-request limits to the request's own
``Encoding`` objects (:mod:`.fixed`), or give each thread its own copy
(:mod:`.per_thread`); start worker processes with ``spawn``.
"""

CHAPTER = 6
