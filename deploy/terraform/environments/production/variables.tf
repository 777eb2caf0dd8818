variable "image_tag" {
  description = "The image the services run; the deploy workflow passes the commit's tag."
  type        = string
}

variable "platform_ips" {
  description = "ZELLY_PLATFORM_IPS: the NLB's addresses."
  type        = list(string)
}

variable "acme_email" {
  description = "ACME account email."
  type        = string
}

variable "smtp_host" {
  description = "Mail relay host."
  type        = string
}

variable "smtp_username" {
  description = "Mail relay user."
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
