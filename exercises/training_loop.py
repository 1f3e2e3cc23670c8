"""training_loop -- the loop every PyTorch program has, with each call made explicit.

    for epoch in range(num_epochs):
        for x, y in loader:
            optimizer.zero_grad()          # clear old gradients
            loss = criterion(model(x), y)  # forward pass and loss
            loss.backward()                # -> model.backward(criterion.backward())
            optimizer.step()               # update the parameters

In this kit the backward pass is explicit: `model.backward(criterion.backward())`.
The grader gives train() stand-ins for the model, loss and optimizer that behave like
torch's, so only the loop itself is graded -- including where zero_grad goes: the
parameters arrive with gradients left over from earlier work.
"""


def train(model, criterion, optimizer, loader, num_epochs):
    """training_loop: train for num_epochs and return every batch's loss.

    model: model(x) -> output, model.backward(grad_output); criterion: criterion(output, y)
    -> 0-d tensor, criterion.backward() -> d loss / d output; optimizer: zero_grad(), step();
    loader: an iterable of (x, y) batches that can be gone over once per epoch.
    Returns a list of Python floats (loss.item()), one per batch, in order, over all epochs.
    """
    # TODO(training_loop): the loop from the module docstring, with the explicit backward pass.
    raise NotImplementedError("training_loop: implement train in training_loop.py")
