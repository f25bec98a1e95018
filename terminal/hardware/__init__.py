"""Board profiles and the gpiozero devices built from them."""
