import torch

torch.set_num_threads(1)  # the tests are small; one thread is fastest and shares the machine
