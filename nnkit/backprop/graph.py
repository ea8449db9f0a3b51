"""Backprop as gates on a computational graph, in the notes' form.

Each gate has a ``forward`` and a ``backward``: backward receives the upstream gradient
∂L/∂out and returns the downstream gradients ∂L/∂in = upstream × local gradient, one per
input. :class:`Node` records which gate made it; :func:`backprop` visits the nodes in reverse
topological order, adding up the gradients that reach each node.

    x = Node(3.0); y = x * x; z = y * y
    backprop(z)  →  x.grad == 108, y.grad == 18
"""

from __future__ import annotations

import numpy as np

from nnkit import activations


class Node:
    """A value in the graph (a scalar or an array) and the gradient that reached it."""

    def __init__(self, value, gate=None, inputs: tuple = ()):
        self.value = np.asarray(value, dtype=np.float64)
        self.gate, self.inputs = gate, inputs
        self.grad = np.zeros_like(self.value)

    def __add__(self, other):
        return Add()(self, _node(other))

    def __mul__(self, other):
        return Multiply()(self, _node(other))

    def __matmul__(self, other):
        return MatMul()(self, _node(other))

    def __repr__(self) -> str:
        return f"Node({self.value}, grad={self.grad})"


def _node(value) -> Node:
    return value if isinstance(value, Node) else Node(value)


class Gate:
    """forward(*values) → value; backward(upstream) → one downstream gradient per input."""

    def __call__(self, *inputs: Node) -> Node:
        return Node(self.forward(*(n.value for n in inputs)), self, inputs)


class Add(Gate):
    """out = a + b; local gradients 1 and 1: the upstream gradient is copied to both."""

    def forward(self, a, b):
        self.shapes = (np.shape(a), np.shape(b))
        return a + b

    def backward(self, upstream):
        return tuple(_unbroadcast(upstream, shape) for shape in self.shapes)


class Multiply(Gate):
    """out = a ⊙ b; local gradients b and a: each input gets upstream × the other."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, upstream):
        return (_unbroadcast(upstream * self.b, np.shape(self.a)),
                _unbroadcast(upstream * self.a, np.shape(self.b)))


class Max(Gate):
    """out = max(a, b) elementwise; the gradient is routed to the larger input."""

    def forward(self, a, b):
        self.mask = np.asarray(a) >= np.asarray(b)
        self.shapes = (np.shape(a), np.shape(b))
        return np.maximum(a, b)

    def backward(self, upstream):
        return (_unbroadcast(upstream * self.mask, self.shapes[0]),
                _unbroadcast(upstream * ~self.mask, self.shapes[1]))


class MatMul(Gate):
    """out = A·B; ∂L/∂A = upstream·Bᵀ, ∂L/∂B = Aᵀ·upstream (the shape convention)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, upstream):
        return upstream @ self.b.T, self.a.T @ upstream


class Sum(Gate):
    """out = Σ a; each element of a gets the upstream gradient."""

    def forward(self, a):
        self.shape = np.shape(a)
        return np.sum(a)

    def backward(self, upstream):
        return (np.full(self.shape, upstream),)


class Activation(Gate):
    """out = g(a) elementwise; local gradient g'(a) from nnkit's derivative functions."""

    def __init__(self, name: str, **params):
        self.name, self.params = name, params

    def forward(self, a):
        self.a = a
        return np.asarray(activations.get(self.name)(a, **self.params), dtype=np.float64)

    def backward(self, upstream):
        local = np.asarray(activations.derivative(self.name)(self.a, **self.params), np.float64)
        return (upstream * local,)


def _unbroadcast(gradient, shape):
    """Sum a gradient over the axes that broadcasting added or stretched."""
    gradient = np.asarray(gradient)
    while gradient.ndim > len(shape):
        gradient = gradient.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and gradient.shape[axis] != 1:
            gradient = gradient.sum(axis=axis, keepdims=True)
    return gradient


def topological_order(output: Node) -> list[Node]:
    """Every node that ``output`` depends on, inputs before the nodes made from them."""
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.inputs:
                visit(parent)
            order.append(node)

    visit(output)
    return order


def backprop(output: Node) -> None:
    """Fill ``grad`` of every node: ∂output/∂node (output.grad starts at 1)."""
    order = topological_order(output)
    for node in order:
        node.grad = np.zeros_like(node.value)
    output.grad = np.ones_like(output.value)
    for node in reversed(order):
        if node.gate is not None:
            for parent, downstream in zip(node.inputs, node.gate.backward(node.grad)):
                parent.grad = parent.grad + downstream
