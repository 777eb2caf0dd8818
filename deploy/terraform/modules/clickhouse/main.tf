# ClickHouse 24.3 on one EC2 instance with its data on an encrypted EBS volume: the store-events
# analytics (ZELLY_ANALYTICS_URL). Zelly keeps serving when it is down (reports answer 503), so one
# instance with daily snapshots is the trade-off, not a cluster (docs/runbook.md, ClickHouse down).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.40" }
  }
}

data "aws_region" "current" {}

data "aws_ssm_parameter" "ami" {
  name = "/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id"
}

resource "aws_security_group" "this" {
  name        = "${var.name}-clickhouse"
  description = "ClickHouse HTTP from the Zelly tasks and the bastion only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "ClickHouse HTTP interface"
    from_port       = 8123
    to_port         = 8123
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
  egress {
    description = "Package and image downloads over HTTPS (through the NAT gateway)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_role" "this" {
  name = "${var.name}-clickhouse"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

# Session Manager instead of SSH: no key pair, no port 22.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "read_password" {
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = "secretsmanager:GetSecretValue", Resource = var.password_secret_arn },
      { Effect = "Allow", Action = "kms:Decrypt", Resource = var.kms_key_arn },
    ]
  })
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-clickhouse"
  role = aws_iam_role.this.name
}

resource "aws_instance" "this" {
  ami                         = data.aws_ssm_parameter.ami.value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  associate_public_ip_address = false
  monitoring                  = true
  ebs_optimized               = true
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    clickhouse_version  = var.clickhouse_version
    password_secret_arn = var.password_secret_arn
    region              = data.aws_region.current.name
  })
  user_data_replace_on_change = false
  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
    # One hop more than the default: the AWS CLI container reads the role's credentials at boot.
    http_put_response_hop_limit = 2
  }
  root_block_device {
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    volume_size = 20
    volume_type = "gp3"
  }
  tags = { Name = "${var.name}-clickhouse" }
}

resource "aws_ebs_volume" "data" {
  availability_zone = aws_instance.this.availability_zone
  size              = var.data_volume_gb
  type              = "gp3"
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  tags              = { Name = "${var.name}-clickhouse-data" }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.this.id
}
