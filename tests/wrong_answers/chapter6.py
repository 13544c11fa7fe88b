"""Chapter 6: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import contextlib
import queue
import threading

from wrong_answers.common import wrong

# --- 6.1 · a lock held only where it must be ----------------------------------------------


def _p61(encode_request):
    from demos.tokenizer_threads import exercises

    return exercises.check_1(encode_request)


def _configure(tokenizer, max_length, pad):
    tokenizer.enable_truncation(max_length=max_length)
    if pad:
        tokenizer.enable_padding()
    else:
        tokenizer.no_padding()


@wrong("6.1", "a new lock on every call: it excludes no one", r"got another request's options")
def _():
    def encode_request(tokenizer, texts, *, max_length, pad=True):
        batch = [text.strip() for text in texts]
        with threading.Lock():
            _configure(tokenizer, max_length, pad)
            return [e.ids for e in tokenizer.encode_batch(batch)]

    return _p61(encode_request)


@wrong("6.1", "the lock around configuring only, encode outside it",
       r"got another request's options")
def _():
    lock = threading.Lock()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        batch = [text.strip() for text in texts]
        with lock:
            _configure(tokenizer, max_length, pad)
        return [e.ids for e in tokenizer.encode_batch(batch)]

    return _p61(encode_request)


@wrong("6.1", "the slow body read inside the lock", r"read its body while holding the lock")
def _():
    lock = threading.Lock()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        with lock:
            batch = [text.strip() for text in texts]
            _configure(tokenizer, max_length, pad)
            return [e.ids for e in tokenizer.encode_batch(batch)]

    return _p61(encode_request)


@wrong("6.1", "a lazy generator over the body made outside the lock, read inside it",
       r"read its body while holding the lock")
def _():
    lock = threading.Lock()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        batch = (text.strip() for text in texts)  # iter() now, the texts read later
        with lock:
            _configure(tokenizer, max_length, pad)
            return [e.ids for e in tokenizer.encode_batch(list(batch))]

    return _p61(encode_request)


@wrong("6.1", "one lock per thread (threading.local)", r"got another request's options")
def _():
    local = threading.local()

    def encode_request(tokenizer, texts, *, max_length, pad=True):
        batch = [text.strip() for text in texts]
        if not hasattr(local, "lock"):
            local.lock = threading.Lock()
        lock = local.lock
        with lock:
            _configure(tokenizer, max_length, pad)
            return [e.ids for e in tokenizer.encode_batch(batch)]

    return _p61(encode_request)


# --- 6.2 · a pool of tokenizers -------------------------------------------------------------


def _p62(pool_class):
    from demos.tokenizer_threads import exercises

    return exercises.check_2(pool_class)


def _copy(tokenizer):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer.to_str())


@wrong("6.2", "the same tokenizer put in the queue size times", r"got 1 tokenizer\(s\)")
def _():
    class Same:
        def __init__(self, tokenizer, size):
            self._free = queue.Queue()
            for _ in range(size):
                self._free.put(tokenizer)

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            tokenizer = self._free.get(timeout=timeout_s)
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return _p62(Same)


@wrong("6.2", "two copies whatever the size", r"a pool of 3: 3 checkouts at once")
def _():
    class TwoCopies:
        def __init__(self, tokenizer, size):
            self._free = queue.Queue()
            for _ in range(2):
                self._free.put(_copy(tokenizer))

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError("no tokenizer free") from None
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return _p62(TwoCopies)


@wrong("6.2", "a fresh copy on every checkout: never runs out", r"returned a tokenizer instead")
def _():
    class Fresh:
        def __init__(self, tokenizer, size):
            self._source = tokenizer

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            yield _copy(self._source)

    return _p62(Fresh)


class _TokenizerQueue:
    def __init__(self, tokenizer, size):
        self._free = queue.Queue()
        for _ in range(size):
            self._free.put(_copy(tokenizer))


@wrong("6.2", "a copy picked round-robin: two holders can share one", r"handed out again")
def _():
    class RoundRobin:
        def __init__(self, tokenizer, size):
            self.t = [_copy(tokenizer) for _ in range(size)]
            self.i = 0
            self.sem = threading.Semaphore(size)

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            if not self.sem.acquire(timeout=timeout_s):
                raise TimeoutError("no tokenizer free")
            try:
                self.i += 1
                yield self.t[self.i % len(self.t)]
            finally:
                self.sem.release()

    return _p62(RoundRobin)


@wrong("6.2", "the caller's own tokenizer is one of the pool's", r"caller's own tokenizer")
def _():
    class WithOriginal(_TokenizerQueue):
        def __init__(self, tokenizer, size):
            self._free = queue.Queue()
            self._free.put(tokenizer)
            for _ in range(size - 1):
                self._free.put(_copy(tokenizer))

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError("no tokenizer free") from None
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return _p62(WithOriginal)


@wrong("6.2", "None given when the pool is empty", r"gave None instead of raising")
def _():
    class NoneWhenEmpty(_TokenizerQueue):
        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                tokenizer = None
            try:
                yield tokenizer
            finally:
                if tokenizer is not None:
                    self._free.put(tokenizer)

    return _p62(NoneWhenEmpty)


@wrong("6.2", "checkout waits forever, its timeout ignored", r"did not return within")
def _():
    class NoTimeout(_TokenizerQueue):
        @contextlib.contextmanager
        def checkout(self, timeout_s):
            tokenizer = self._free.get()
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return _p62(NoTimeout)


@wrong("6.2", "not checked back in when the request raises", r"not checked back in")
def _():
    class NoFinally(_TokenizerQueue):
        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError("no tokenizer free") from None
            yield tokenizer
            self._free.put(tokenizer)

    return _p62(NoFinally)


@wrong("6.2", "queue.Empty let out instead of TimeoutError", r"raised Empty instead of Timeout")
def _():
    class Empty(_TokenizerQueue):
        @contextlib.contextmanager
        def checkout(self, timeout_s):
            tokenizer = self._free.get(timeout=timeout_s)
            try:
                yield tokenizer
            finally:
                self._free.put(tokenizer)

    return _p62(Empty)


# --- 6.3 · keep the end, per request --------------------------------------------------------


def _p63(encode_keep_end):
    from demos.tokenizer_threads import exercises

    return exercises.check_3(encode_keep_end)


@wrong("6.3", "the shared tokenizer written under a lock, then restored", r"called enable_")
def _():
    lock = threading.Lock()

    def encode_keep_end(tokenizer, texts, *, max_length):
        with lock:
            tokenizer.enable_truncation(max_length=max_length, direction="left")
            try:
                return [e.ids for e in tokenizer.encode_batch(list(texts))]
            finally:
                tokenizer.no_truncation()

    return _p63(encode_keep_end)


@wrong("6.3", "the encoding truncated from the left with [CLS] and [SEP] still in it",
       r"differ from a private tokenizer")
def _():
    def encode_keep_end(tokenizer, texts, *, max_length):
        encodings = tokenizer.encode_batch(list(texts))
        for encoding in encodings:
            encoding.truncate(max_length, direction="left")
        return [e.ids for e in encodings]

    return _p63(encode_keep_end)


@wrong("6.3", "an off-by-one: cut only past max_length + 1 ids",
       r"differ from a private tokenizer")
def _():
    def encode_keep_end(tokenizer, texts, *, max_length):
        specials = tokenizer.num_special_tokens_to_add(False)
        out = []
        for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False):
            if len(encoding.ids) + specials > max_length + 1:  # max_length + 1 let through
                encoding.truncate(max_length - specials, direction="left")
            out.append(tokenizer.post_process(encoding).ids)
        return out

    return _p63(encode_keep_end)


@wrong("6.3", "the last max_length ids sliced off: [CLS] lost", r"differ from a private tokenizer")
def _():
    def encode_keep_end(tokenizer, texts, *, max_length):
        return [e.ids[-max_length:] for e in tokenizer.encode_batch(list(texts))]

    return _p63(encode_keep_end)


@wrong("6.3", "truncated per request, but from the right: keeps the start",
       r"differ from a private tokenizer")
def _():
    def encode_keep_end(tokenizer, texts, *, max_length):
        specials = tokenizer.num_special_tokens_to_add(False)
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for encoding in encodings:
            encoding.truncate(max_length - specials)
        return [tokenizer.post_process(encoding).ids for encoding in encodings]

    return _p63(encode_keep_end)


@wrong("6.2", "checked back in twice (after the yield and in finally)",
       r"checked back in twice is lent to two holders")
def _():
    class TwiceIn:
        def __init__(self, tokenizer, size):
            self._free = queue.Queue()
            for _ in range(size):
                self._free.put(_copy(tokenizer))

        @contextlib.contextmanager
        def checkout(self, timeout_s):
            try:
                tokenizer = self._free.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError("no tokenizer free") from None
            try:
                yield tokenizer
                self._free.put(tokenizer)  # back in...
            finally:
                self._free.put(tokenizer)  # ...and once more

    return _p62(TwiceIn)


# --- 6.4 · the length the model's users embed ------------------------------------------------


def _p64(max_length):
    from demos.tokenizer_threads import exercises

    return exercises.check_4(max_length)


@wrong("6.4", "tokenizer.json's own truncation (what loading the file as shipped gives)",
       r"folder 1: 128 instead of 256")
def _():
    def max_length(folder):
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(folder / "tokenizer.json")).truncation["max_length"]

    return _p64(max_length)


@wrong("6.4", "the smallest length any file names", r"folder 1: 128 instead of 256")
def _():
    import json

    def max_length(folder):
        found = [json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"]]
        config = folder / "sentence_bert_config.json"
        if config.exists():
            found.append(json.loads(config.read_text())["max_seq_length"])
        return min([*found, 128])

    return _p64(max_length)


@wrong("6.4", "falls back to tokenizer_config.json when sentence_bert_config.json is missing",
       r"folder 4 has no sentence_bert_config.json: you returned 512")
def _():
    import json

    def max_length(folder):
        config = folder / "sentence_bert_config.json"
        if config.exists():
            return json.loads(config.read_text())["max_seq_length"]
        return json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"]

    return _p64(max_length)


@wrong("6.4", "the smaller of max_seq_length and model_max_length (sentence-transformers "
       "embeds max_seq_length)", r"folder 2: 256 instead of 384")
def _():
    import json

    def max_length(folder):
        config = folder / "sentence_bert_config.json"
        if not config.exists():
            raise ValueError(f"{config.name} is missing")
        tokenizer = json.loads((folder / "tokenizer_config.json").read_text())
        return min(json.loads(config.read_text())["max_seq_length"], tokenizer["model_max_length"])

    return _p64(max_length)


@wrong("6.4", "falls back to tokenizer_config.json's max_length when it is there",
       r"folder 4 has no sentence_bert_config.json: you returned 128")
def _():
    import json

    def max_length(folder):
        config = folder / "sentence_bert_config.json"
        if config.exists():
            return json.loads(config.read_text())["max_seq_length"]
        tokenizer = json.loads((folder / "tokenizer_config.json").read_text())
        if "max_length" in tokenizer:
            return tokenizer["max_length"]
        raise ValueError(f"{config.name} is missing and tokenizer_config.json has no max_length")

    return _p64(max_length)


@wrong("6.4", "falls back to config.json's max_position_embeddings when it is there",
       r"folder 4 has no sentence_bert_config.json: you returned 512")
def _():
    import json

    def max_length(folder):
        config = folder / "sentence_bert_config.json"
        if config.exists():
            return json.loads(config.read_text())["max_seq_length"]
        model = folder / "config.json"
        if model.exists():
            return json.loads(model.read_text())["max_position_embeddings"]
        raise ValueError(f"{config.name} is missing and so is config.json")

    return _p64(max_length)


@wrong("6.4", "a float (enable_truncation refuses it)", r"folder 1: 256\.0 is a float")
def _():
    import json

    def max_length(folder):
        config = folder / "sentence_bert_config.json"
        if not config.exists():
            raise ValueError(f"{config.name} is missing")
        return float(json.loads(config.read_text())["max_seq_length"])

    return _p64(max_length)
