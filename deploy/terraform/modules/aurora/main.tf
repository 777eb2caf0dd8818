# Aurora MySQL Serverless v2: Zelly's three databases (astro_primary, ecom_store_front, backoffice),
# created by `zelly migrate`. Encrypted with the environment's key, IAM auth on, logs to CloudWatch.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.40" }
  }
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "this" {
  name        = "${var.name}-aurora"
  description = "Aurora: MySQL from the Zelly tasks and the bastion only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "MySQL from the Zelly tasks and the bastion"
    from_port       = 3306
    to_port         = 3306
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_rds_cluster_parameter_group" "this" {
  name   = var.name
  family = "aurora-mysql8.0"
  parameter {
    name  = "require_secure_transport"
    value = "ON"
  }
}

resource "aws_rds_cluster" "this" {
  # checkov:skip=CKV_AWS_326:backtrack rewinds the whole cluster, every tenant at once; a restore is point-in-time into a new cluster (docs/runbook.md)
  # checkov:skip=CKV2_AWS_8:Aurora's continuous backups (backup_retention_period, 14 days) and the final snapshot; AWS Backup copies to another account are not set up yet
  cluster_identifier                  = var.name
  engine                              = "aurora-mysql"
  engine_mode                         = "provisioned"
  engine_version                      = var.engine_version
  master_username                     = var.master_username
  master_password                     = var.master_password
  db_subnet_group_name                = aws_db_subnet_group.this.name
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  iam_database_authentication_enabled = true
  deletion_protection                 = true
  copy_tags_to_snapshot               = true
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "19:00-20:00"
  enabled_cloudwatch_logs_exports     = ["audit", "error", "slowquery"]
  final_snapshot_identifier           = "${var.name}-final"
  serverlessv2_scaling_configuration {
    min_capacity = var.min_capacity
    max_capacity = var.max_capacity
  }
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "monitoring.rds.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# A writer and, with instance_count 2 or more, readers in other zones that take over on a failure.
resource "aws_rds_cluster_instance" "this" {
  count                                 = var.instance_count
  identifier                            = "${var.name}-${count.index}"
  cluster_identifier                    = aws_rds_cluster.this.id
  instance_class                        = "db.serverless"
  engine                                = aws_rds_cluster.this.engine
  engine_version                        = aws_rds_cluster.this.engine_version
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  auto_minor_version_upgrade            = true
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
}
