variable "name" {
  description = "zelly-staging or zelly-production: the prefix of every resource."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's range."
  type        = string
}

variable "availability_zones" {
  description = "The region's zones the environment spreads over."
  type        = list(string)
}

variable "platform_domain" {
  description = "ZELLY_PLATFORM_DOMAIN."
  type        = string
}

variable "platform_ips" {
  description = "ZELLY_PLATFORM_IPS: the NLB's static addresses that apex domains point at."
  type        = list(string)
}

variable "acme_email" {
  description = "ZELLY_ACME_EMAIL."
  type        = string
}

variable "smtp_host" {
  description = "ZELLY_SMTP_HOST: the mail relay."
  type        = string
}

variable "smtp_username" {
  description = "ZELLY_SMTP_USERNAME."
  type        = string
}

variable "mail_from" {
  description = "ZELLY_MAIL_FROM."
  type        = string
}

variable "extra_environment" {
  description = "Further plain ZELLY_* settings (docs/configuration.md)."
  type        = map(string)
  default     = {}
}

variable "image_tag" {
  description = "Tag of the Zelly image the services run (the deploy workflow moves it on)."
  type        = string
}

variable "desired_counts" {
  description = "Tasks per service."
  type        = map(number)
  default     = {}
}

variable "aurora_max_capacity" {
  description = "Most Aurora ACUs."
  type        = number
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "clickhouse_instance_type" {
  description = "ClickHouse EC2 instance type."
  type        = string
}

variable "operator_cidr_blocks" {
  description = "Addresses allowed to reach WireGuard."
  type        = list(string)
}

variable "wireguard_peers" {
  description = "Operator name -> public key and tunnel address."
  type        = map(object({ public_key = string, address = string }))
  default     = {}
}

variable "github_repository" {
  description = "owner/name of the repository that deploys."
  type        = string
}

variable "github_environment" {
  description = "GitHub environment of the deploy job."
  type        = string
}
