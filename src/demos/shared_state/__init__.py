"""Mutable state inside the model.

A team wraps the sentence encoder in a small class for their search service. It grows the
way such classes do: a preallocated scratch buffer "to save an allocation per request", a
``stats()`` snapshot that is read before the model call and written back after it, and,
once someone notices odd results, a lock around the whole call. Each looks harmless in a
single-threaded notebook. Under two request threads the first two return other requests'
embeddings and lose counts; the lock fixes that by making the server single-threaded.

onnxruntime releases the GIL inside ``InferenceSession.run`` and its maintainers state that
``run`` may be called concurrently on one session, so on the CPU execution provider the model
itself needs no lock (the DirectML provider allows one ``run`` per session at a time). The
fix is to keep inference a pure function of its input: the session and the tokenizer are
immutable and shared, buffers belong to one call, and metrics are kept outside the model
call, under a lock that is never held while the model runs. The opposite mistake, too many
threads on the same cores, depends on the layout: request threads on one shared session
share its intra-op pool (the threads add), a session per thread or a process per worker
brings a pool each (they multiply). :mod:`.layouts` counts and measures the three layouts,
:mod:`.pools` spinning and onnxruntime's global thread pools, :mod:`.oversubscription` the
larger grid behind ``python -m demos bench shared_state``.

Modules: :mod:`.broken` and :mod:`.fixed` (the wrapper, same names), :mod:`.variants`
(the other shapes of the same mistake: a shared output buffer, a "last input" attribute,
the lock around ``run``), :mod:`.counters` (five ways to count calls from threads, and what
each costs), :mod:`.trace` (a session proxy that records runs in flight),
:mod:`.oversubscription` (request threads and intra-op threads: throughput and p99),
:mod:`.layouts` (shared session, session per thread, process per worker; the worker
processes in :mod:`._workers`), :mod:`.over_budget` (what going over the thread budget did,
judged against the run's noise), :mod:`.pools` (spinning, global thread pools),
:mod:`.plots` (the chapter's figures), :mod:`.exercises` (the exercises' checks),
:mod:`.versions` (the version-dependent behaviours, observed) and :mod:`.scenario`.
"""

CHAPTER = 4
