"""Layer 0, input and output: files, images, model files, the VGG19 weights, training batches, progress.

Nothing here knows about style transfer's maths; everything above reads and writes through it.
"""
