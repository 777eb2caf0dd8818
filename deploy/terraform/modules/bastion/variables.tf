variable "name" {
  description = "Prefix of resource names."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "vpc_cidr_block" {
  description = "What a tunnel peer may reach."
  type        = string
}

variable "public_subnet_id" {
  description = "Public subnet of the instance."
  type        = string
}

variable "kms_key_arn" {
  description = "Encrypts the root volume."
  type        = string
}

variable "operator_cidr_blocks" {
  description = "Addresses allowed to reach the WireGuard port."
  type        = list(string)
}

variable "tunnel_cidr" {
  description = "The tunnel's own addresses (the server takes the first)."
  type        = string
  default     = "10.250.0.0/24"
}

variable "wireguard_peers" {
  description = "Operator name -> public key and tunnel address."
  type        = map(object({ public_key = string, address = string }))
  default     = {}
}
