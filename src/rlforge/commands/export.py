"""`rlforge export`: a trained policy as an ONNX or TorchScript file that runs without rlforge."""

import json

import click

from rlforge.console import console


@click.command("export")
@click.argument("path", metavar="RUN_DIR|CHECKPOINT")
@click.option("--format", "-f", "fmt", type=click.Choice(["onnx", "torchscript"]),
              help="File format (default: from --out's suffix, .onnx or .pt).")
@click.option("--out", "-o", required=True, type=click.Path(), metavar="FILE", help="The file to write.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export(path, fmt, out, force, as_json):
    """Export the deterministic policy of RUN_DIR's latest checkpoint (or a checkpoint folder).

    The file maps a float32 observation batch (input "obs", [B, *obs_shape]) to the actions the
    env receives (output "action"): observation normalisation and action rescaling are inside,
    Discrete actions are int64 indices. It carries the env id and rlforge's version as metadata.
    Before it is put in place, the written file is run with its own runtime (onnxruntime,
    torch.jit.load) on 1,000 observations and must give the policy's actions.

    \b
    Examples:
      rlforge export runs/sac/Pendulum-v1/20261121-101500-s1 --format onnx --out pendulum.onnx
      rlforge export RUN_DIR --out policy.pt            # TorchScript, from the suffix
      rlforge eval pendulum.onnx --episodes 10          # evaluate the exported file
    """
    from rlforge.export.exporter import export_policy

    report = export_policy(path, fmt, out, force)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console.print(f"wrote {report['file']} ({report['format']}): {report['algo']} on {report['env']} at step "
                  f"{report['step']:,}; checked on {report['observations_checked']:,} observations "
                  f"(largest difference {report['max_difference']:.2g})")
