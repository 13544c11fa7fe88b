"""The model's input contract.

An ONNX model declares what it takes: input names, element types, shapes with named
dynamic dimensions, inputs that carry a default value inside the model, and outputs in a
fixed order. Python code that feeds it a dict "that looks right" meets onnxruntime as its
only checker. Most mismatches raise, but some messages never name the input at fault
(an int32 id tensor, a mask padded to another length), and some mistakes do not raise at
all: an omitted overridable initializer silently takes its default, a mask of the wrong
shape broadcasts, and outputs unpacked by position come back swapped.

The fix reads the contract from the session once, prints it, and checks every feed
against it before the run; outputs are asked for by name.
"""

CHAPTER = 5
