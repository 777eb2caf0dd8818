variable "name" {
  description = "Cluster name and prefix of every resource."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's range: trusted proxies, and where tasks may connect."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks and the EFS mount targets."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Subnets of the NLB."
  type        = list(string)
}

variable "image" {
  description = "The Zelly image (ECR repository URL and tag); the deploy workflow replaces the tag."
  type        = string
}

variable "kms_key_arn" {
  description = "Encrypts logs, EFS and ECS Exec sessions."
  type        = string
}

variable "environment" {
  description = "Plain ZELLY_* settings of every process (docs/configuration.md); must name ZELLY_PLATFORM_DOMAIN."
  type        = map(string)
}

variable "secret_arns" {
  description = "Secret settings: environment variable name -> Secrets Manager ARN."
  type        = map(string)
}

variable "acme_email" {
  description = "ACME account email for Caddy's certificates."
  type        = string
}

variable "desired_counts" {
  description = "Tasks per service (origin, storefront, worker-<queue>, consumer); origin-jobs and the schedulers are always one."
  type        = map(number)
  default     = {}
}

variable "log_retention_days" {
  description = "Days the processes' logs are kept."
  type        = number
  default     = 365
}
