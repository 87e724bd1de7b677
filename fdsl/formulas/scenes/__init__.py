"""PC-FractalDB scenes: synthetic rooms of fractal objects for 3D detection pre-training (``fdsl scenes``).

``layout.py`` draws a scene's boxes as published (``scene_%05d.json``); ``assemble.py`` fills the boxes
with PC-FractalDB instances and derives the labels, boxes and votes that VoteNet-style loaders read.
Scene i is a function of (seed, i) only.  Files and writing are ``fdsl.write.scene_files`` and
``fdsl.write.producers``; the picture from above is ``fdsl.preview.scenes``.
"""
