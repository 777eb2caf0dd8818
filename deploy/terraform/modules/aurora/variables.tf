variable "name" {
  description = "Cluster identifier."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per zone."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect (the Zelly tasks, the bastion)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Encrypts storage and Performance Insights."
  type        = string
}

variable "master_username" {
  description = "The user Zelly connects as."
  type        = string
  default     = "zelly"
}

variable "master_password" {
  description = "Its password (from the secrets module)."
  type        = string
  sensitive   = true
}

variable "engine_version" {
  description = "Aurora MySQL 3 (MySQL 8.0 compatible)."
  type        = string
  default     = "8.0.mysql_aurora.3.08.0"
}

variable "min_capacity" {
  description = "Fewest ACUs."
  type        = number
  default     = 0.5
}

variable "max_capacity" {
  description = "Most ACUs."
  type        = number
  default     = 16
}

variable "instance_count" {
  description = "Writer plus readers."
  type        = number
  default     = 2
}

variable "backup_retention_days" {
  description = "Days of point-in-time recovery."
  type        = number
  default     = 14
}
