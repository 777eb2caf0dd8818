variable "name" {
  description = "Replication group id."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Encrypts data at rest and snapshots."
  type        = string
}

variable "auth_token" {
  description = "Redis AUTH token (from the secrets module)."
  type        = string
  sensitive   = true
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "replica_count" {
  description = "Replicas besides the primary."
  type        = number
  default     = 1
}
