"""An empty Pulumi program: the baseline the dev stack's evaluation is measured against."""
