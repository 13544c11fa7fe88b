"""Silent precision loss.

A request arrives as JSON: Python floats, which are float64. The model takes float32, or
float16 to halve its memory. onnxruntime refuses the float64 array loudly, so the code adds
``.astype(np.float32)``, and that is where the silence starts: the cast rounds every value,
turns anything above float16's 65504 into ``inf``, flushes tiny values to zero, merges
integer ids above 2**24, and never says a word. Running totals kept in the model's dtype
drift, and a softmax computed in float16 returns NaN once a logit passes about 11.

This chapter measures each loss on the real stack and ends with a cast that states its
precision budget and refuses, with a message naming the element, to break it.
"""

CHAPTER = 1
