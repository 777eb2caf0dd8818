output "kms_key_arn" {
  value = aws_kms_key.this.arn
}

output "database_password" {
  value     = random_password.database.result
  sensitive = true
}

output "redis_auth_token" {
  value     = random_password.redis.result
  sensitive = true
}

output "clickhouse_password_secret_arn" {
  value = aws_secretsmanager_secret.clickhouse_password.arn
}

# Environment variable name -> secret ARN, for the task definitions' `secrets`.
output "secret_arns" {
  value = merge(
    { for name, secret in aws_secretsmanager_secret.setting : name => secret.arn },
    { for name, secret in aws_secretsmanager_secret.operator : name => secret.arn },
  )
}
