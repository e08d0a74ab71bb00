"""mse: the mean squared error of PyTorch's ``nn.MSELoss()``, averaged over every element."""
