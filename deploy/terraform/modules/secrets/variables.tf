variable "name" {
  description = "Prefix of every secret name (zelly-staging, zelly-production)."
  type        = string
}

variable "database_username" {
  description = "Aurora's master user; Zelly's URL connects as it."
  type        = string
  default     = "zelly"
}

variable "database_endpoint" {
  description = "Aurora's writer endpoint."
  type        = string
}

variable "redis_endpoint" {
  description = "ElastiCache's primary endpoint."
  type        = string
}

variable "clickhouse_endpoint" {
  description = "The ClickHouse instance's private DNS name."
  type        = string
}

variable "operator_secrets" {
  description = "Secret settings the operator fills in by hand."
  type        = list(string)
  default     = ["ZELLY_SMTP_PASSWORD", "ZELLY_STRIPE_SECRET_KEY", "ZELLY_STRIPE_WEBHOOK_SECRET"]
}
