"""Training: the VGG loss network, the losses, the data stream and the training loop."""
