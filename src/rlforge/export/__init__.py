"""Policy export: a trained policy as one ONNX or TorchScript file that runs without rlforge.

The interface a plugin implements is one optional method, `Policy.export_module()`: an
`nn.Module` mapping a float32 observation batch [B, *obs_shape] to the action batch the env
receives, the same numbers as `policy.act(obs, deterministic=True)` (observation normalisation
and action rescaling inside it; int64 indices for Discrete actions). `rlforge.export.blocks`
has the small pieces most policies are made of.

  blocks    the building blocks (standardise, squash to the bounds, argmax, ...)
  files     writing a module as ONNX or TorchScript with rlforge's metadata; reading it back
  exporter  from a checkpoint to a checked file (what `rlforge export` runs)
  policy    an exported file as a Policy, for `rlforge eval FILE`
"""
