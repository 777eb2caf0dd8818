output "repository_url" {
  value = aws_ecr_repository.zelly.repository_url
}

output "deploy_role_arn" {
  value = aws_iam_role.deploy.arn
}
