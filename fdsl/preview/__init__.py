"""Contact sheets of what a user is about to train on: images, image/mask pairs, scenes from above."""
