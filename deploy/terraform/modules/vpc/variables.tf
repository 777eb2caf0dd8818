variable "name" {
  description = "Prefix of every resource name (zelly-staging, zelly-production)."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; split into 16 subnets, the first zones' public, the upper half private."
  type        = string
}

variable "availability_zones" {
  description = "Zones used: one public and one private subnet and one NAT gateway in each."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Key that encrypts the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days the flow logs are kept."
  type        = number
  default     = 365
}
