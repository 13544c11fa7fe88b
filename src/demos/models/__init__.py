"""The running example: all-MiniLM-L6-v2 on onnxruntime, converted without torch."""
