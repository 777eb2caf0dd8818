"""Running Zelly: the `zelly` command, migrations, the dev stack, deploy files. Nothing imports ops/."""
