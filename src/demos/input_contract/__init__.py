"""The model's input contract.

An ONNX model declares what it takes: input names, element types, shapes with named
dynamic dimensions, inputs that carry a default value inside the model, and outputs in a
fixed order. Python code that feeds it a dict "that looks right" meets onnxruntime as its
only checker. Most mismatches raise, but some messages never name the input at fault
(an int32 id tensor, a mask padded to another length), and some mistakes do not raise at
all: an omitted overridable initializer silently takes its default, a mask of the wrong
shape broadcasts, and outputs unpacked by position come back swapped.

The file is part of the contract too: its IR version, opsets and operators say which
onnxruntime can read it, and a tokenizer.json's types and fields say which tokenizers can.
A runtime older than the writer refuses it in its own words (a C++ signature, serde's
"untagged enum") or, for an unknown field inside a tokenizer.json component, ignores it
without a word.

The fix reads the contract from the session once, prints it, and checks every feed
against it before the run, raising its own ContractError; outputs are asked for by name,
and checked by a known answer where the names themselves may be wrong. Model and
tokenizer files are checked at start-up against what the installed runtime was *observed*
to read, with one message naming both versions and what to upgrade.
"""

CHAPTER = 5
