# Secrets Manager holds every secret setting (docs/configuration.md, "Secrets") and the store URLs that
# carry passwords; ECS injects them as environment variables, so no task definition holds a value.
# One customer-managed key encrypts them and every log group, volume and store of the environment.
terraform {
  required_providers {
    aws    = { source = "hashicorp/aws", version = ">= 5.40" }
    random = { source = "hashicorp/random", version = ">= 3.6" }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_111:a key policy: "*" is this key, and the account-root statement is AWS's default key policy (IAM policies decide)
  # checkov:skip=CKV_AWS_356:as above, "*" in a key policy names the key itself
  # checkov:skip=CKV_AWS_109:as above, the account root administers its own key
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "${var.name}: secrets, logs, volumes and stores"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# Generated once and kept in state; rotate ZELLY_SECRET_KEY with `zelly secret rotate` (docs/runbook.md).
resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "random_password" "internal_token" {
  length  = 48
  special = false
}

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 48
  special = false
}

resource "random_password" "clickhouse" {
  length  = 40
  special = false
}

locals {
  generated = ["ZELLY_SECRET_KEY", "ZELLY_INTERNAL_TOKEN", "ZELLY_DATABASE_URL", "ZELLY_REDIS_URL", "ZELLY_ANALYTICS_URL"]
  values = {
    ZELLY_SECRET_KEY     = random_password.secret_key.result
    ZELLY_INTERNAL_TOKEN = random_password.internal_token.result
    ZELLY_DATABASE_URL   = "mysql+aiomysql://${var.database_username}:${random_password.database.result}@${var.database_endpoint}:3306/"
    ZELLY_REDIS_URL      = "rediss://:${random_password.redis.result}@${var.redis_endpoint}:6379/0"
    ZELLY_ANALYTICS_URL  = "http://zelly:${random_password.clickhouse.result}@${var.clickhouse_endpoint}:8123/zelly"
  }
}

# Keyed by the names, not the map: for_each cannot take the generated (sensitive) values themselves.
resource "aws_secretsmanager_secret" "setting" {
  for_each = toset(local.generated)
  # checkov:skip=CKV2_AWS_57:generated values rotate by procedure (zelly secret rotate, docs/runbook.md), not by a rotation Lambda that cannot re-seal stored credentials
  name                    = "${var.name}/${each.key}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "setting" {
  for_each      = toset(local.generated)
  secret_id     = aws_secretsmanager_secret.setting[each.key].id
  secret_string = local.values[each.key]
}

# The ClickHouse server's own copy of its password, read by the instance at boot (not in user data,
# which anyone with ec2:DescribeInstanceAttribute can read).
resource "aws_secretsmanager_secret" "clickhouse_password" {
  # checkov:skip=CKV2_AWS_57:rotating it means changing the server's user and ZELLY_ANALYTICS_URL together, by procedure
  name                    = "${var.name}/clickhouse-password"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "clickhouse_password" {
  secret_id     = aws_secretsmanager_secret.clickhouse_password.id
  secret_string = random_password.clickhouse.result
}

# Set by the operator (aws secretsmanager put-secret-value): the SMTP relay's password, Stripe's keys.
resource "aws_secretsmanager_secret" "operator" {
  for_each = toset(var.operator_secrets)
  # checkov:skip=CKV2_AWS_57:third-party credentials (SMTP relay, Stripe) rotate at their provider, then are put here by hand
  name                    = "${var.name}/${each.key}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
}
