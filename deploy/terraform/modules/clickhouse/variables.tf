variable "name" {
  description = "Prefix of resource names."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "subnet_id" {
  description = "The private subnet the instance runs in."
  type        = string
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Encrypts the volumes."
  type        = string
}

variable "password_secret_arn" {
  description = "Secrets Manager secret holding the zelly user's password; the instance reads it at boot."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type (Graviton)."
  type        = string
  default     = "r7g.large"
}

variable "data_volume_gb" {
  description = "Size of the data volume."
  type        = number
  default     = 200
}

variable "clickhouse_version" {
  description = "Image tag of clickhouse/clickhouse-server."
  type        = string
  default     = "24.3"
}
