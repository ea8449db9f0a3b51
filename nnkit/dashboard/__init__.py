"""nnkit's TensorBoard tab (:mod:`nnkit.dashboard.plugin`): a depth × step heatmap per run,
every layer's gradient norm on one log axis, the gradient-flow profile across depth at a
chosen step with other runs overlaid, and the findings. Light: importing it starts no
TensorFlow; TensorBoard loads it through the ``tensorboard_plugins`` entry point."""
