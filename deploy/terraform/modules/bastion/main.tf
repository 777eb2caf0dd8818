# The operators' way in: a WireGuard endpoint (UDP only; no SSH port open to anyone). A peer on the
# tunnel reaches the private subnets: MySQL, Redis, ClickHouse, the internal listeners.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.40" }
  }
}

data "aws_ssm_parameter" "ami" {
  name = "/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id"
}

resource "aws_security_group" "this" {
  name        = "${var.name}-bastion"
  description = "WireGuard from the operators' addresses"
  vpc_id      = var.vpc_id
  ingress {
    description = "WireGuard"
    from_port   = 51820
    to_port     = 51820
    protocol    = "udp"
    cidr_blocks = var.operator_cidr_blocks
  }
  egress {
    description = "The private subnets (stores, internal listeners)"
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
  egress {
    description = "Package downloads over HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_role" "this" {
  name = "${var.name}-bastion"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-bastion"
  role = aws_iam_role.this.name
}

resource "aws_instance" "this" {
  # checkov:skip=CKV_AWS_88:the WireGuard endpoint must be reachable from the operators' networks; only UDP 51820 is open
  ami                         = data.aws_ssm_parameter.ami.value
  instance_type               = "t4g.small"
  subnet_id                   = var.public_subnet_id
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  associate_public_ip_address = true
  source_dest_check           = false # it routes the tunnel's packets into the VPC
  monitoring                  = true
  ebs_optimized               = true
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    tunnel_cidr    = var.tunnel_cidr
    vpc_cidr_block = var.vpc_cidr_block
    peers          = var.wireguard_peers
  })
  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }
  root_block_device {
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    volume_size = 10
    volume_type = "gp3"
  }
  tags = { Name = "${var.name}-bastion" }
}

resource "aws_eip" "this" {
  domain   = "vpc"
  instance = aws_instance.this.id
  tags     = { Name = "${var.name}-bastion" }
}
