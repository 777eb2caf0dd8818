variable "name" {
  description = "Prefix of resource names."
  type        = string
}

variable "repository_name" {
  description = "ECR repository of the Zelly image."
  type        = string
  default     = "zelly"
}

variable "kms_key_arn" {
  description = "Encrypts the images."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository whose workflow deploys."
  type        = string
}

variable "github_environment" {
  description = "The GitHub environment the deploy job runs in (staging, production)."
  type        = string
}

variable "cluster_name" {
  description = "The ECS cluster it deploys to."
  type        = string
}

variable "task_role_arns" {
  description = "Roles the registered task definitions pass (execution and task roles)."
  type        = list(string)
}
