"""softmax_cross_entropy: the loss of PyTorch's ``nn.CrossEntropyLoss()`` on logits, averaged
over the batch, with class-index targets (symbolically, their one-hot rows)."""
